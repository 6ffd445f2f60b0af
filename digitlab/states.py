"""A training job's states, named once (:mod:`digitlab.training` moves a job through them).

``queued`` -> ``running`` -> one of ``done``, ``stopped`` (Stop pressed; a run stopped after
an epoch keeps its partial model) or ``error``. A queued job that is stopped goes straight to
``stopped``.
"""
QUEUED = "queued"
RUNNING = "running"
DONE = "done"
STOPPED = "stopped"
ERROR = "error"

STATES = (QUEUED, RUNNING, DONE, STOPPED, ERROR)
ACTIVE = (QUEUED, RUNNING)  # a job still to finish: it may be stopped, its name is taken
FINISHED = (DONE, STOPPED, ERROR)


def is_active(job: dict) -> bool:
    """Is the job (a status dict with ``state``) queued or running?"""
    return job.get("state") in ACTIVE
