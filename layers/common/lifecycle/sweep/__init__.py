"""The nightly sweep: ``segments`` (what a worker does with its scan segment) and ``progress``
(the run, its segments' checkpoints, read pacing and the queue of segment tasks)."""
