"""tars: an open desktop GUI agent in the style of UI-TARS.

One import namespace over the repository's top-level folders (docs/DESIGN.md, Layout):

========================  ===================================================================
``tars.actions``          the action language: action types, keys, coordinates, parsers
``tars.desktop``          operators: screen capture and input on a real (or dry-run) desktop
``tars.models``           policies: prompt + screenshots in, model text out
``tars.agent``            the loop and what every front end shares (history, guard, hooks,
                          trajectory files, the run builder, virtual displays)
``tars.frontends``        the command line, console, overlay, desktop app, reports, recorder
``tars.evals``            grounding sets and task suites
``tars.assets``           practice apps, task suites, the grounding set
========================  ===================================================================

In the repository the packages are folders at the top level and ``tars/`` links to them; an
installed wheel holds them as real sub-packages. Importing ``tars`` imports nothing else.
"""

__version__ = "0.1.0"
