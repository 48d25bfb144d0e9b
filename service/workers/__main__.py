"""`python -m service.workers`: the worker role alone (the Procfile's `worker`)."""

from service.workers.role import main

main()
