"""`manage.py backup FOLDER`: a consistent copy of the database and var/'s files, while the app runs."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smarketing.lib.backup import BackupError, backup_make


class Command(BaseCommand):
    help = (
        "Back up the database (SQLite: online backup API; PostgreSQL: pg_dump --format=custom), "
        "the embedded secret key, uploads and the embedded broker's queue into a new folder."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="a new or empty folder, e.g. backups/2026-12-07")

    def handle(self, *args: object, folder: Path, **options: object) -> None:
        try:
            manifest = backup_make(destination=folder)
        except BackupError as error:
            raise CommandError(str(error)) from error
        database = manifest["database"]
        self.stdout.write(f"{database['engine']} database: {folder / database['file']} ({database['bytes']:,} bytes)")
        for name in manifest["files"]:
            self.stdout.write(f"copied {folder / name}")
        self.stdout.write(f"manifest: {folder / 'backup.json'}")
