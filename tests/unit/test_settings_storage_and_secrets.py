"""Storage settings, a `.env` file under the environment, and `NAME_FILE` secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Settings, SettingsError, StorageSettings
from service.storage.local import LocalBlobs
from service.storage.store import build_storage


def test_without_a_storage_url_files_stay_in_the_data_dir_as_before(tmp_path: Path) -> None:
    settings = Settings.from_env({"VIDGATE_DATA_DIR": str(tmp_path)})
    assert settings.storage == StorageSettings()
    blobs = build_storage(settings).blobs
    assert isinstance(blobs, LocalBlobs) and blobs.root == tmp_path


def test_a_file_url_puts_them_in_another_directory(tmp_path: Path) -> None:
    settings = Settings.from_env({"VIDGATE_STORAGE_URL": f"file://{tmp_path}/files/"})
    blobs = build_storage(settings).blobs
    assert isinstance(blobs, LocalBlobs) and blobs.root == tmp_path / "files"


def test_an_s3_url_reads_the_endpoint_and_the_aws_variables() -> None:
    settings = Settings.from_env(
        {
            "VIDGATE_STORAGE_URL": "s3://videos/gateway/",
            "VIDGATE_S3_ENDPOINT_URL": "http://127.0.0.1:9000/",
            "AWS_ACCESS_KEY_ID": "AKIA1",
            "AWS_SECRET_ACCESS_KEY": "s3cret",
            "AWS_DEFAULT_REGION": "eu-west-3",
            "VIDGATE_CONTENT_REDIRECT": "true",
            "VIDGATE_CONTENT_REDIRECT_TTL_S": "60",
        }
    ).storage
    assert settings.is_s3 and settings.url == "s3://videos/gateway"
    assert settings.endpoint_url == "http://127.0.0.1:9000"
    assert (settings.access_key_id, settings.secret_access_key) == ("AKIA1", "s3cret")
    assert settings.region == "eu-west-3"
    assert settings.content_redirect and settings.redirect_ttl == 60


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"VIDGATE_STORAGE_URL": "gs://bucket"}, "VIDGATE_STORAGE_URL"),
        ({"VIDGATE_STORAGE_URL": "s3://"}, "VIDGATE_STORAGE_URL"),
        ({"VIDGATE_STORAGE_URL": "file://relative"}, "VIDGATE_STORAGE_URL"),
        ({"VIDGATE_S3_ENDPOINT_URL": "minio:9000"}, "VIDGATE_S3_ENDPOINT_URL"),
        ({"VIDGATE_CONTENT_REDIRECT": "true"}, "VIDGATE_CONTENT_REDIRECT"),
        (
            {"VIDGATE_STORAGE_URL": "s3://b", "VIDGATE_CONTENT_REDIRECT_TTL_S": "0"},
            "VIDGATE_CONTENT_REDIRECT_TTL_S",
        ),
    ],
)
def test_a_bad_storage_setting_names_its_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_a_file_variant_sets_any_vidgate_or_aws_variable(tmp_path: Path) -> None:
    (tmp_path / "db").write_text("postgresql://vidgate:pw@db/vidgate\n")
    (tmp_path / "aws").write_text("s3cret")
    (tmp_path / "fal").write_text("fal-key\r\n")
    settings = Settings.from_env(
        {
            "VIDGATE_DATABASE_URL_FILE": str(tmp_path / "db"),
            "AWS_SECRET_ACCESS_KEY_FILE": str(tmp_path / "aws"),
            "VIDGATE_FAL_KEY_FILE": str(tmp_path / "fal"),
            "VIDGATE_FAL_USER_ID": "u1",
        }
    )
    assert settings.database_url == "postgresql://vidgate:pw@db/vidgate"  # newline dropped
    assert settings.storage.secret_access_key == "s3cret"
    assert settings.providers.fal_key == "fal-key"


def test_a_file_variant_and_the_variable_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("from-file")
    env = {"VIDGATE_SECRET_KEY": "inline", "VIDGATE_SECRET_KEY_FILE": str(tmp_path / "key")}
    with pytest.raises(SettingsError, match="VIDGATE_SECRET_KEY or VIDGATE_SECRET_KEY_FILE"):
        Settings.from_env(env)


def test_an_unreadable_file_variant_names_it(tmp_path: Path) -> None:
    env = {"VIDGATE_SECRET_KEY_FILE": str(tmp_path / "missing")}
    with pytest.raises(SettingsError, match="VIDGATE_SECRET_KEY_FILE: cannot read"):
        Settings.from_env(env)


def test_other_tools_file_variables_are_left_alone(tmp_path: Path) -> None:
    env = {"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "HOME_FILE": "/nonexistent"}
    assert Settings.from_env(env).storage.secret_access_key is None


def test_a_dotenv_file_fills_what_the_environment_does_not_set(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text('PORT=9100\nVIDGATE_SECRET_KEY="from dotenv"\n# a comment\nHOST=0.0.0.0\n')
    settings = Settings.from_env({"HOST": "127.0.0.2"}, env_file=dotenv)
    assert settings.port == 9100 and settings.secret_key == "from dotenv"
    assert settings.host == "127.0.0.2"  # the environment wins


def test_a_file_variant_may_come_from_the_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("from-a-mounted-secret")
    (tmp_path / ".env").write_text(f"VIDGATE_SECRET_KEY_FILE={tmp_path / 'secret'}\n")
    settings = Settings.from_env({}, env_file=tmp_path / ".env")
    assert settings.secret_key == "from-a-mounted-secret"


def test_no_dotenv_file_is_no_error(tmp_path: Path) -> None:
    assert Settings.from_env({}, env_file=tmp_path / ".env").port == 8000
