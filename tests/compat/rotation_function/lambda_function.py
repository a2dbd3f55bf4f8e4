"""A rotation function written for AWS Lambda, unchanged: AWS's SecretsManagerRotationTemplate
(the standard four-step handler), with setSecret and testSecret filled in for a "target system"
that is a directory of files (TARGET_DIR), as a database's user table would be.

Tresor runs it as a command rotator through run_rotation.py, which only feeds it the event.
Set FAIL_STEP to make one step fail (for the tests of failed rotations).
"""

import logging
import os

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    arn = event["SecretId"]
    token = event["ClientRequestToken"]
    step = event["Step"]

    # Setup the client
    service_client = boto3.client(
        "secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"]
    )

    # Make sure the version is staged correctly
    metadata = service_client.describe_secret(SecretId=arn)
    if not metadata["RotationEnabled"]:
        logger.error("Secret %s is not enabled for rotation" % arn)
        raise ValueError("Secret %s is not enabled for rotation" % arn)
    versions = metadata["VersionIdsToStages"]
    if token not in versions:
        logger.error("Secret version %s has no stage for rotation of secret %s." % (token, arn))
        raise ValueError("Secret version %s has no stage for rotation of secret %s." % (token, arn))
    if "AWSCURRENT" in versions[token]:
        logger.info("Secret version %s already set as AWSCURRENT for secret %s." % (token, arn))
        return
    elif "AWSPENDING" not in versions[token]:
        logger.error("Secret version %s not set as AWSPENDING for rotation of secret %s." % (token, arn))
        raise ValueError("Secret version %s not set as AWSPENDING for rotation of secret %s." % (token, arn))

    record_step(step)
    if os.environ.get("FAIL_STEP") == step:
        raise ValueError("%s failed on purpose (FAIL_STEP)" % step)

    if step == "createSecret":
        create_secret(service_client, arn, token)
    elif step == "setSecret":
        set_secret(service_client, arn, token)
    elif step == "testSecret":
        test_secret(service_client, arn, token)
    elif step == "finishSecret":
        finish_secret(service_client, arn, token)
    else:
        raise ValueError("Invalid step parameter")


def record_step(step):
    target = os.environ.get("TARGET_DIR")
    if target:
        with open(os.path.join(target, "steps.log"), "a") as f:
            f.write("%s %s\n" % (step, os.environ.get("AWS_ENDPOINT_URL", "")))


def create_secret(service_client, arn, token):
    # Make sure the current secret exists
    service_client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")

    # Now try to get the secret version, if that fails, put a new secret
    try:
        service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        logger.info("createSecret: Successfully retrieved secret for %s." % arn)
    except service_client.exceptions.ResourceNotFoundException:
        # Get exclude characters from environment variable
        exclude_characters = os.environ.get("EXCLUDE_CHARACTERS", "/@\"'\\")
        # Generate a random password
        passwd = service_client.get_random_password(ExcludeCharacters=exclude_characters)

        # Put the secret
        service_client.put_secret_value(
            SecretId=arn,
            ClientRequestToken=token,
            SecretString=passwd["RandomPassword"],
            VersionStages=["AWSPENDING"],
        )
        logger.info("createSecret: Successfully put secret for ARN %s and version %s." % (arn, token))


def target_file(arn):
    """The secret's password in the "target system" (one file per secret)."""
    return os.path.join(os.environ["TARGET_DIR"], "password-" + arn.split(":secret:")[-1].replace("/", "_"))


def set_secret(service_client, arn, token):
    # The "target system": the pending password becomes valid there.
    pending = service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    with open(target_file(arn), "w") as f:
        f.write(pending["SecretString"])
    logger.info("setSecret: set the pending password in the target system for %s." % arn)


def test_secret(service_client, arn, token):
    pending = service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    with open(target_file(arn)) as f:
        if f.read() != pending["SecretString"]:
            raise ValueError("testSecret: the target system does not accept the pending password")
    logger.info("testSecret: the pending password works for %s." % arn)


def finish_secret(service_client, arn, token):
    # First describe the secret to get the current version
    metadata = service_client.describe_secret(SecretId=arn)
    current_version = None
    for version in metadata["VersionIdsToStages"]:
        if "AWSCURRENT" in metadata["VersionIdsToStages"][version]:
            if version == token:
                # The correct version is already marked as current, return
                logger.info("finishSecret: Version %s already marked as AWSCURRENT for %s" % (version, arn))
                return
            current_version = version
            break

    # Finalize by staging the secret version current
    service_client.update_secret_version_stage(
        SecretId=arn,
        VersionStage="AWSCURRENT",
        MoveToVersionId=token,
        RemoveFromVersionId=current_version,
    )
    logger.info("finishSecret: Successfully set AWSCURRENT stage to version %s for secret %s." % (token, arn))
