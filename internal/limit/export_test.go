package limit

// Beat runs one heartbeat now.
func (s *Shared) Beat() { s.beat() }
