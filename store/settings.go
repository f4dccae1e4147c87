package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Setting keys.
const (
	SettingSecret      = "secret"
	SettingNgrokToken  = "ngrok_authtoken"
	SettingNgrokDomain = "ngrok_domain"
)

// Setting returns a setting's value, or "" when it is not set.
func (s *Store) Setting(key string) (string, error) {
	var v string
	err := s.view(func(tx *bolt.Tx) error {
		v = string(tx.Bucket(bucketSettings).Get([]byte(key)))
		return nil
	})
	return v, err
}

// SetSetting stores a setting durably; an empty value removes it.
func (s *Store) SetSetting(key, value string) error {
	if key == SettingSecret {
		defer s.secret.Store(nil) // read afresh next time
	}
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSettings)
		if value == "" {
			return b.Delete([]byte(key))
		}
		return b.Put([]byte(key), []byte(value))
	})
}

// Secret returns the webhook secret, creating one (32 random bytes, hex) the
// first time. After the first call it is served from memory, so the
// receiver can ask for it on every request.
func (s *Store) Secret() (string, error) {
	if p := s.secret.Load(); p != nil {
		return *p, nil
	}
	var secret string
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSettings)
		if v := b.Get([]byte(SettingSecret)); len(v) > 0 {
			secret = string(v)
			return nil
		}
		fresh, err := newSecret()
		if err != nil {
			return err
		}
		secret = fresh
		return b.Put([]byte(SettingSecret), []byte(fresh))
	})
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	s.secret.Store(&secret)
	return secret, nil
}

// RotateSecret replaces the webhook secret with a new random one and returns
// it. Comeet must be given the new value, or its deliveries will get 401.
func (s *Store) RotateSecret() (string, error) {
	fresh, err := newSecret()
	if err != nil {
		return "", err
	}
	if err := s.SetSetting(SettingSecret, fresh); err != nil {
		return "", fmt.Errorf("rotate secret: %w", err)
	}
	return fresh, nil
}

func newSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
