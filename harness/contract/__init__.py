"""The method contract in one place (containers/CONTRACT.md is its prose).

- ``mounts``: the mount roles, their paths inside a container and their command-line flags;
- ``views``: the folders a method may see (training view, test-images view);
- ``init_folder``: the ``--init`` folder of a transfer regime (``init.json`` and its weights);
- ``checks``: the checks run on what predict wrote;
- ``seal``: the sha256 seal of a trained model, checked around predict.

No module here knows a particular method's parameters.
"""

from __future__ import annotations
