"""A small CDK app that uses every kind of resource the local runtime serves.

The product's own stacks grow feature by feature; this app already has a WebSocket API with an
authorizer, S3 -> SQS -> Lambda, a DynamoDB stream mapping, a state machine with a Catch, an SES
identity and functions with short timeouts, so the runtime's generic machinery is tested now,
through the same templates-only path the product's stacks take.
"""
