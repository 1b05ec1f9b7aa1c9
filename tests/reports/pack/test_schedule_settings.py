"""The pack's day and hour come from the environment (MEETING_PACK_DAY, MEETING_PACK_HOUR), in the
instance's zone; a day or hour that does not exist stops the app at start, saying which."""

from pathlib import Path

from tests.smarketing.test_settings import clean_env, run_python

SCHEDULE = (
    "import django; django.setup(); from django.conf import settings; "
    "entry = settings.CELERY_BEAT_SCHEDULE['reports-meeting-pack']['schedule']; "
    "print(sorted(entry.day_of_week), sorted(entry.hour), sorted(entry.minute), settings.CELERY_TIMEZONE)"
)


def test_the_day_and_hour_are_read_from_the_environment(tmp_path: Path) -> None:
    env = clean_env(DEBUG="1", SMARKETING_VAR_DIR=str(tmp_path), TIME_ZONE="Europe/Madrid")
    result = run_python(["-c", SCHEDULE], env | {"MEETING_PACK_DAY": "Friday", "MEETING_PACK_HOUR": "17"})
    assert result.stdout.split() == ["[5]", "[17]", "[0]", "Europe/Madrid"], result.stderr


def test_a_day_that_is_no_weekday_stops_the_app(tmp_path: Path) -> None:
    env = clean_env(DEBUG="1", SMARKETING_VAR_DIR=str(tmp_path), MEETING_PACK_DAY="funday")
    result = run_python(["-c", SCHEDULE], env)
    assert result.returncode != 0 and "MEETING_PACK_DAY is a weekday's English name" in result.stderr
