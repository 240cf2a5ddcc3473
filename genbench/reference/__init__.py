"""Reference classifiers shipped with genbench, and the script that rebuilds them."""
