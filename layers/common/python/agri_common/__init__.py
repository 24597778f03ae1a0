"""Code shared by every agri-mrv Lambda function, shipped as the `common` layer.

Nothing here knows whether it runs on AWS or in the local twin: AWS endpoints come from
boto3's standard configuration (``AWS_ENDPOINT_URL``), resource names from each function's
environment.
"""
