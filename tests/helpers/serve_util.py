"""Shared by the Python test peers: publish the bound port, then serve until interrupted."""
import os
import time


def publish_and_serve(srv, port, port_file):
    """Starts srv, writes port to port_file atomically (tests wait for the file), serves until killed."""
    srv.start()
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(port_file + ".tmp", port_file)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop(0)
    return 0
