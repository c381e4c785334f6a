"""The ``audiogen`` command (``audiogen --help``): one sub-command per job, each a thin ``main(argv)`` in this
package calling the library; ``scripts/`` call the same functions. The generation commands and the web app's tabs
come from one small table, ``tasks.TASKS``."""
