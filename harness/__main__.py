"""`python -m harness` is the same as the `bench` command."""

from harness.commands.main import main

raise SystemExit(main())
