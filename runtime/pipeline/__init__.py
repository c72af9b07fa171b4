"""The image pipeline: uploaded photos validated, resized to the contract's variants and watermarked.

``runtime.pipeline.imaging`` is the pure image-processing core (bytes in, bytes out; no AWS);
the Step Functions tasks that fetch from and store to S3 wrap it.
"""
