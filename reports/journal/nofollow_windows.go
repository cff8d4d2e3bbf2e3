package journal

// oNoFollow: Windows has no O_NOFOLLOW; os.Root still refuses a link
// that leads out of the directory.
const oNoFollow = 0
