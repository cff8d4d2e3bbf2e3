package rundir

// oNoFollow: Windows has no O_NOFOLLOW; os.Root still refuses a link
// that leads out of the directory.
const oNoFollow = 0

// oNonBlock keeps an open of a FIFO from waiting for a writer.
const oNonBlock = 0
