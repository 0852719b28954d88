"""Proves boto3 (the Python AWS SDK) speaks to rotor's local endpoint: every operation, AWS's error codes, and a
rotation through RotateSecret. Run by the end-to-end suite: boto3_endpoint.py ENDPOINT_URL FUNCTION_NAME."""

import json
import sys
import time
import uuid

import boto3
from botocore.exceptions import ClientError

endpoint, function = sys.argv[1], sys.argv[2]
sm = boto3.client(
    "secretsmanager",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="AKIDROTORTEST",
    aws_secret_access_key="rotor-test-not-a-secret",
)
checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise SystemExit(f"boto3 check failed: {what}")
    checks += 1


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as error:
        return error.response["Error"]["Code"]
    return None


name = f"boto3-{uuid.uuid4().hex[:10]}"
created = sm.create_secret(Name=name, SecretString=json.dumps({"password": "x" * 40, "user": "app"}),
                           Tags=[{"Key": "team", "Value": "a"}])
arn = created["ARN"]
check(arn.startswith("arn:aws:secretsmanager:us-east-1:") and created["Name"] == name, "CreateSecret")
check(sm.get_secret_value(SecretId=name)["VersionStages"] == ["AWSCURRENT"], "GetSecretValue")
check(error_code(sm.create_secret, Name=name, SecretString="y") == "ResourceExistsException", "duplicate name")
check(error_code(sm.get_secret_value, SecretId=name + "-missing") == "ResourceNotFoundException", "missing secret")

token = str(uuid.uuid4())
put = sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString="v2", VersionStages=["AWSPENDING"])
check(put["VersionStages"] == ["AWSPENDING"], "PutSecretValue AWSPENDING")
check(error_code(sm.put_secret_value, SecretId=arn, ClientRequestToken=token, SecretString="v3") == "ResourceExistsException",
      "token reuse with another value")
current = [v for v, s in sm.describe_secret(SecretId=arn)["VersionIdsToStages"].items() if "AWSCURRENT" in s][0]
check(error_code(sm.update_secret_version_stage, SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token)
      == "InvalidParameterException", "promotion without RemoveFromVersionId")
sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=token)
sm.update_secret(SecretId=arn, Description="boto3")
check(sm.describe_secret(SecretId=arn)["Description"] == "boto3", "UpdateSecret")
sm.tag_resource(SecretId=arn, Tags=[{"Key": "env", "Value": "dev"}])
sm.untag_resource(SecretId=arn, TagKeys=["team"])
check([t["Key"] for t in sm.describe_secret(SecretId=arn)["Tags"]] == ["env"], "tags")
check(any(s["Name"] == name for s in sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]),
      "ListSecrets")
check(len(sm.list_secret_version_ids(SecretId=arn)["Versions"]) == 1, "ListSecretVersionIds")
check(len(sm.get_random_password(PasswordLength=20, ExcludePunctuation=True)["RandomPassword"]) == 20,
      "GetRandomPassword")

rotation = sm.rotate_secret(SecretId=arn, RotationLambdaARN=f"arn:aws:lambda:us-east-1:123456789012:function:{function}",
                            RotationRules={"ScheduleExpression": "rate(10 days)"})
deadline = time.time() + 30
while time.time() < deadline:
    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    if stages.get(rotation["VersionId"]) == ["AWSCURRENT"]:
        break
    time.sleep(0.05)
check(stages.get(rotation["VersionId"]) == ["AWSCURRENT"] and stages.get(current) == ["AWSPREVIOUS"], "rotation")
described = sm.describe_secret(SecretId=arn)
check(described["RotationEnabled"] and "LastRotatedDate" in described and "NextRotationDate" in described, "dates")
sm.cancel_rotate_secret(SecretId=arn)
check(sm.describe_secret(SecretId=arn)["RotationEnabled"] is False, "CancelRotateSecret")

check(error_code(sm.delete_secret, SecretId=arn, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
      == "InvalidParameterException", "delete with both options")
sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
check(error_code(sm.get_secret_value, SecretId=arn) == "InvalidRequestException", "deleted secret unreadable")
sm.restore_secret(SecretId=arn)
sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
check(error_code(sm.describe_secret, SecretId=arn) == "ResourceNotFoundException", "force delete")
print(f"boto3: {checks} checks passed")
