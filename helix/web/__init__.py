"""The dashboard at /dashboard: NiceGUI pages served by the same process, in front of the Litestar app.

mount.py     the ASGI dispatcher (/dashboard to NiceGUI, the rest to Litestar) and the dashboard's lifespan
guard.py     who may see it (server-side login sessions, the admin key, laptop mode); login.py the login page
host.py      NiceGUI's FastAPI host, set up once per process
timerange.py the page's one time range, from and to the URL
data.py      everything a page shows, read through the store's shared queries; feed.py reads it off the loop
widgets.py   header, cards, charts and tables that send only what changed; charts.py the charts' options
actions.py   what an admin can change (keys, budgets, the cache), through the code the CLI and admin API use
pages/       one module per page; routes.py lists them
"""
