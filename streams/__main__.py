"""`python -m streams` (what `hub worker` runs): one stream worker process."""

import logging
import os
import sys

from hub.settings import Settings
from streams.app import run_worker


def main() -> None:
    settings = Settings.from_env(os.environ)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    run_worker(settings)


if __name__ == "__main__":
    main()
