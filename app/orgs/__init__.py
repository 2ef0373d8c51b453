"""Organisations: regions, industries, enterprises, institutions, verification bodies."""
