"""``python -m tars``: the same command line as the ``tars`` console script."""

from tars.frontends.entry import main

if __name__ == "__main__":
    main()
