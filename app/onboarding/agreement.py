"""The data-use agreement an organisation accepts before its workspace opens; the exact text
accepted is copied onto the application, so later revisions never rewrite what was agreed."""

VERSION = "2026-1"
TEXT = f"""碳效码平台数据使用协议（{VERSION}）

一、入驻机构仅在平台授予的数据范围内使用数据，用途限于申请时声明的用途。
二、不得尝试识别去标识化数据所涉及的具体企业，不得向第三方转让或公开平台数据。
三、银行等金融机构仅可读取已向其授权的企业数据，授权撤销或到期后立即停止使用。
四、机构对其账户下的全部操作负责，平台对每次访问留存审计记录。
五、违反本协议的，平台有权暂停或终止机构的全部账户。
"""
