"""Email: SES v2 through boto3, or .eml files under ./outbox/ when SES is not configured."""
