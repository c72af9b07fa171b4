"""The image pipeline: S3 -> SQS -> orchestrator -> Step Functions (validate, resize, watermark, record).

``runtime.pipeline.imaging`` is the pure image-processing core (bytes in, bytes out; no AWS)
that the Step Functions tasks wrap.
"""
