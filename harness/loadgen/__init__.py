"""Load generation with Locust, always in separate processes (gevent patches the world).

`driver` runs in the harness process and spawns Locust; `plugin` and `params` run inside
the Locust processes and must not import anything heavy from the harness.
"""
