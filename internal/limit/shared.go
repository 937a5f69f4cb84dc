package limit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"mailproxy/internal/kvstore"
)

// Heartbeat is how often a Shared store says its instance is alive;
// counts of an instance silent for 3 heartbeats stop counting.
const Heartbeat = 10 * time.Second

// sharedPrefix starts every key a Shared store writes.
const sharedPrefix = "mailproxy:limit:"

// Shared is a Store in a Redis/Valkey server that several instances
// share, so that a limit holds across them. Each (zone, key) is a hash
// of per-instance counts; each instance refreshes a heartbeat key, and
// the counts of an instance whose heartbeat expired (it died) are dropped
// by the next Acquire of that key. Zones have no size in the store: Full
// is never answered.
//
// A store that does not answer makes Acquire return an error (the caller
// lets the connection through, uncounted); a Release that could not be
// written is written again, with every count this instance holds, once
// the store answers a heartbeat.
type Shared struct {
	c  kvstore.Client
	id string // this instance's field in every hash

	mu    sync.Mutex
	held  map[string]int // hash key → connections this instance counts in it
	dirty bool           // a write failed: rewrite held at the next heartbeat

	stop  chan struct{}
	done  chan struct{}
	close sync.Once
}

// acquireScript counts one more connection of instance ARGV[1] in
// KEYS[1] unless the live instances' counts reach ARGV[2]; an instance is
// alive while the key ARGV[3]..instance exists. It returns 1 when it
// counted, 0 when over the limit. It also renews the caller's own
// heartbeat (ARGV[4] ms), which a restarted store has lost.
var acquireScript = kvstore.NewScript(`
redis.call('SET', ARGV[3] .. ARGV[1], '1', 'PX', ARGV[4])
local fields = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
  local inst, n = fields[i], tonumber(fields[i + 1])
  if inst == ARGV[1] or redis.call('EXISTS', ARGV[3] .. inst) == 1 then
    total = total + n
  else
    redis.call('HDEL', KEYS[1], inst)
  end
end
if total >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1
`)

// releaseScript uncounts one connection of instance ARGV[1] in KEYS[1].
var releaseScript = kvstore.NewScript(`
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return n
`)

// NewShared returns a Store in the store c reaches, for one instance,
// and starts its heartbeat; Close stops it.
func NewShared(c kvstore.Client) *Shared {
	var b [8]byte
	rand.Read(b[:])
	s := &Shared{c: c, id: hex.EncodeToString(b[:]), held: map[string]int{},
		stop: make(chan struct{}), done: make(chan struct{})}
	s.beat()
	go s.run()
	return s
}

// hashKey is the store key of key in z. Zone names are configuration;
// key values come from clients and auth answers, after the zone name and
// a separator a zone name cannot hold.
func hashKey(z Zone, key string) string {
	return sharedPrefix + "conn:" + strconv.Itoa(len(z.Name)) + ":" + z.Name + ":" + key
}

func (s *Shared) aliveKey() string { return sharedPrefix + "instance:" + s.id }

// Acquire implements Store.
func (s *Shared) Acquire(z Zone, key string, limit int) (Verdict, error) {
	ctx, cancel := kvstore.Timeout(context.Background())
	defer cancel()
	k := hashKey(z, key)
	n, err := acquireScript.Run(ctx, s.c, []string{k}, s.id, limit, sharedPrefix+"instance:", (3 * Heartbeat).Milliseconds()).Int()
	if err != nil {
		return Over, err
	}
	if n == 0 {
		return Over, nil
	}
	s.mu.Lock()
	s.held[k]++
	s.mu.Unlock()
	return Counted, nil
}

// Release implements Store.
func (s *Shared) Release(z Zone, key string) {
	k := hashKey(z, key)
	s.mu.Lock()
	if s.held[k] > 1 {
		s.held[k]--
	} else {
		delete(s.held, k)
	}
	s.mu.Unlock()
	ctx, cancel := kvstore.Timeout(context.Background())
	defer cancel()
	if err := releaseScript.Run(ctx, s.c, []string{k}, s.id).Err(); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
	}
}

// Count returns how many connections the live instances count for key
// in z (for tests and diagnostics).
func (s *Shared) Count(ctx context.Context, z Zone, key string) (int, error) {
	m, err := s.c.HGetAll(ctx, hashKey(z, key)).Result()
	if err != nil {
		return 0, err
	}
	total := 0
	for inst, v := range m {
		n, _ := strconv.Atoi(v)
		if inst == s.id {
			total += n
			continue
		}
		if alive, err := s.c.Exists(ctx, sharedPrefix+"instance:"+inst).Result(); err == nil && alive == 1 {
			total += n
		}
	}
	return total, nil
}

// run beats until Close.
func (s *Shared) run() {
	defer close(s.done)
	t := time.NewTicker(Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.beat()
		}
	}
}

// beat refreshes the heartbeat and, after a failed write, rewrites this
// instance's counts from what it holds.
func (s *Shared) beat() {
	ctx, cancel := kvstore.Timeout(context.Background())
	defer cancel()
	if err := s.c.Set(ctx, s.aliveKey(), "1", 3*Heartbeat).Err(); err != nil {
		s.mu.Lock()
		s.dirty = true // the heartbeat may expire: the counts may be dropped
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return
	}
	held := make(map[string]int, len(s.held))
	for k, n := range s.held {
		held[k] = n
	}
	s.dirty = false
	s.mu.Unlock()
	if err := s.resync(held); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
	}
}

// resync writes held as this instance's counts: every hash with a field
// of this instance gets the count held (or loses the field).
func (s *Shared) resync(held map[string]int) error {
	ctx, cancel := context.WithTimeout(context.Background(), Heartbeat/2)
	defer cancel()
	var keys []string
	iter := s.c.Scan(ctx, 0, sharedPrefix+"conn:*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return err
	}
	p := s.c.Pipeline()
	for _, k := range keys {
		if _, ok := held[k]; !ok {
			p.HDel(ctx, k, s.id)
		}
	}
	for k, n := range held {
		p.HSet(ctx, k, s.id, n)
	}
	_, err := p.Exec(ctx)
	return err
}

// Close stops the heartbeat and removes this instance's counts and
// heartbeat from the store (the connections it counted are closing).
func (s *Shared) Close() {
	s.close.Do(s.shutdown)
}

func (s *Shared) shutdown() {
	close(s.stop)
	<-s.done
	ctx, cancel := kvstore.Timeout(context.Background())
	defer cancel()
	s.mu.Lock()
	held := s.held
	s.held = map[string]int{}
	s.mu.Unlock()
	p := s.c.Pipeline()
	for k := range held {
		p.HDel(ctx, k, s.id)
	}
	p.Del(ctx, s.aliveKey())
	p.Exec(ctx)
}

var _ Store = (*Shared)(nil)
