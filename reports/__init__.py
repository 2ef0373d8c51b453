"""Report builders (reportlab): carbon accounting reports, certificates, statements.

PDFs embed their CJK font (a registered TTF, never the viewer's fonts) and are signed with
the platform's SM2 key (app.crypto.signing).
"""
