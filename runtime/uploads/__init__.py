"""QR upload sessions and image uploads: presigned S3 URLs and the records behind them."""
