console.log("Conduit gateway: not wired yet")
