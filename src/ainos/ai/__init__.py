"""AI platform layer: portable versions of the Windows AI APIs.

``ainos.ai.actions`` holds typed AI actions (Windows.AI.Actions and .Hosting). This package
imports nothing on its own, so importing one subpackage never pulls in another's heavy
dependencies.
"""
