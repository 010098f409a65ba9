"""The dashboard at /dashboard: NiceGUI pages served by the same process, in front of the Litestar app.

mount.py     the ASGI dispatcher (/dashboard to NiceGUI, the rest to Litestar) and the dashboard's lifespan
guard.py     who may see it (admin key session, laptop mode, or nobody); login.py the login page
host.py      NiceGUI's FastAPI host, set up once per process
snapshot.py  everything a page shows, read through the store's shared queries; feed.py refreshes it
page.py      the page, one panel per module in panels/
"""
