"""Method images: the engine connection, base images, builds, ``method new`` and ``method verify``.

``engine`` connects to a Docker daemon (or says how to start one); ``images`` names the image a
method runs; ``bases`` maps official bases to local stand-ins (``containers/bases.yaml``); ``build``
builds a method's image, offline from a wheelhouse when asked; ``verify`` and ``scaffold`` back the
``segarena method`` commands. The executor itself is ``harness/executors/docker.py``.
Imports the docker SDK lazily: nothing here needs it until an engine is used.
"""
