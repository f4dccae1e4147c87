package store

import bolt "go.etcd.io/bbolt"

// CountAtMost returns an upper bound on Count without reading any hire:
// how many hires were ever stored, deleted ones included. Count walks
// every page of the hires, which at 100,000 hires is tens of milliseconds
// and 80 MB of the data file mapped; this reads one number.
func (s *Store) CountAtMost() (int, error) {
	var n uint64
	err := s.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketHires).Sequence()
		return nil
	})
	return int(n), err
}
