package throttle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"mailproxy/internal/kvstore"
)

// blockedScript returns the 1-based index of the first of KEYS that
// exists (a block in force), or 0.
var blockedScript = kvstore.NewScript(`
for i, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then return i end
end
return 0
`)

// failScript records one failure under pairs of KEYS (failure times, a
// sorted set; block) with ARGV: now in ms, a unique member, then per pair
// failures, window ms, block ms. It returns, per pair, 1 when a block
// started. The set is trimmed to the window and to `failures` members
// and expires with its window; a block clears it.
var failScript = kvstore.NewScript(`
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS, 2 do
  local a = 3 + (i - 1) / 2 * 3
  local max, win, blk = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local f, b = KEYS[i], KEYS[i + 1]
  local started = 0
  if redis.call('EXISTS', b) == 0 then
    redis.call('ZREMRANGEBYSCORE', f, '-inf', now - win)
    redis.call('ZADD', f, now, ARGV[2])
    redis.call('ZREMRANGEBYRANK', f, 0, -(max + 1))
    if redis.call('ZCARD', f) >= max then
      redis.call('SET', b, '1', 'PX', blk)
      redis.call('DEL', f)
      started = 1
    else
      redis.call('PEXPIRE', f, win)
    end
  end
  out[#out + 1] = started
end
return out
`)

// Redis is a Store on a Redis or Valkey server shared by several
// instances. Failure times are the instances' clocks (milliseconds):
// keep them in step (NTP). Each operation is one round trip.
type Redis struct {
	c kvstore.Client
}

// NewRedis returns a Store on the pool c, which it closes on Close.
func NewRedis(c kvstore.Client) *Redis { return &Redis{c: c} }

// Blocked implements Store.
func (r *Redis) Blocked(ctx context.Context, _ time.Time, blocks []string) (int, error) {
	n, err := blockedScript.Run(ctx, r.c, blocks).Int()
	if err != nil {
		return -1, err
	}
	return n - 1, nil
}

// Fail implements Store.
func (r *Redis) Fail(ctx context.Context, now time.Time, entries []Entry) ([]bool, error) {
	keys := make([]string, 0, 2*len(entries))
	args := make([]any, 0, 2+3*len(entries))
	var id [8]byte
	rand.Read(id[:])
	ms := now.UnixMilli()
	args = append(args, ms, strconv.FormatInt(ms, 10)+"-"+hex.EncodeToString(id[:]))
	for _, e := range entries {
		keys = append(keys, e.Fail, e.Block)
		args = append(args, e.Limit.Failures, e.Limit.Window.Milliseconds(), max(e.Limit.Block.Milliseconds(), 1))
	}
	v, err := failScript.Run(ctx, r.c, keys, args...).Int64Slice()
	if err != nil {
		return nil, err
	}
	if len(v) != len(entries) {
		return nil, fmt.Errorf("the store answered %d results for %d rules", len(v), len(entries))
	}
	started := make([]bool, len(v))
	for i, s := range v {
		started[i] = s == 1
	}
	return started, nil
}

// Clear implements Store.
func (r *Redis) Clear(ctx context.Context, keys []string) error {
	return r.c.Del(ctx, keys...).Err()
}

// Close implements Store.
func (r *Redis) Close() error { return r.c.Close() }
