"""``python -m vnetdoctor``."""

from vnetdoctor.cli import main

if __name__ == "__main__":
    main()
