"""celltrial.edc: the Django application that runs a trial (arrives with the EDC issue)."""
