package row

import "testing"

func TestBucketsHoldTheirValueAndStayNarrow(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 123456789, 1 << 40, 1<<63 + 12345} {
		b := bucket(v)
		u := upper(b)
		if u < v {
			t.Fatalf("value %d in bucket %d with upper bound %d", v, b, u)
		}
		if v >= 64 && float64(u-v) > float64(v)/64 {
			t.Fatalf("value %d: bucket upper bound %d is more than 1/64 above it", v, u)
		}
		if b >= buckets {
			t.Fatalf("value %d: bucket %d beyond %d", v, b, buckets)
		}
	}
}
