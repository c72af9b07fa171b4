"""The image pipeline: S3 -> SQS -> orchestrator -> Step Functions (validate, resize, watermark, record)."""
