"""The live reader of the cluster kind (``--cluster [NAME=]live:CONTEXT``): stage 1 of the collector
read from an API server instead of snapshot files; stages 2 and 3 (redaction, objects, scopes) are the
snapshot's own, so a live run and a run on its snapshot give the same results.

- ``connect``: a kubeconfig context (or the pod's service account) → an authenticated API client;
- ``api``: one GET with retries (429 with ``Retry-After``, 5xx, timeouts) and errors that read alone;
- ``discovery``: the checks' ``reads`` (``apps/Deployment``, ``constraints.gatekeeper.sh/*``) → the
  resources the server serves, or why one cannot be listed;
- ``lister``: one resource type, every page (``limit``/``continue``; a list restarted on ``410 Gone``);
- ``collect``: every type concurrently → the inventory.

Only GET requests are ever sent (tests prove it from the API server's audit log).
"""
