"""National cryptography (R-5.6): SM3 / HMAC-SM3 and SM4-GCM via OpenSSL, SM2 via gmssl."""
