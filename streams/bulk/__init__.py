"""The bulk rebuild: restate the whole log into a new generation in one pass (`hub rebuild`).

merge.py      each partition's place in the log's clock, and the bound below which
              every version has been read (so versions are taken in clock order)
job.py        one job: read its partitions, route versions to the job holding their
              entity, hold and sum them (`hub.domain.bulk`), checkpoint
exchange.py   how jobs in several processes hand each other versions, round by round
run.py        start or resume a bulk rebuild, run its jobs, commit their checkpoints,
              then hand the generation to the live path at the exact offsets read
"""
