"""`python -m harness` is the same as the `bench` command."""

from harness.cli import main

raise SystemExit(main())
