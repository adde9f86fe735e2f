using System.Diagnostics;
using P2PNet.Core;

namespace P2PNet.Protocols.AutoNat;

/// <summary>
/// The server's sliding one-minute windows: requests over all peers, per peer, and those that need dial data; plus
/// requests in progress per peer. Bounded: the global window holds at most its limit of entries, and a peer has an
/// entry only while one of its requests is in that window or in progress.
/// </summary>
internal sealed class AutoNatRateLimiter(AutoNatOptions options, Func<long>? clock = null)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly Lock _lock = new();
    private readonly Func<long> _clock = clock ?? Stopwatch.GetTimestamp;
    private readonly Queue<(PeerId Peer, long At)> _requests = new();
    private readonly Dictionary<PeerId, int> _perPeer = [];
    private readonly Dictionary<PeerId, int> _inProgress = [];
    private readonly Queue<long> _dialData = new();

    /// <summary>Admits a request of <paramref name="peer"/>; call <see cref="Complete"/> when it ends.</summary>
    public bool TryAccept(PeerId peer)
    {
        lock (_lock)
        {
            Expire(_clock());
            if (_inProgress.GetValueOrDefault(peer) >= options.ServerMaxConcurrentPerPeer) return false;
            if (_requests.Count >= options.ServerRequestsPerMinute || _perPeer.GetValueOrDefault(peer) >= options.ServerRequestsPerPeerPerMinute) return false;
            _requests.Enqueue((peer, _clock()));
            _perPeer[peer] = _perPeer.GetValueOrDefault(peer) + 1;
            _inProgress[peer] = _inProgress.GetValueOrDefault(peer) + 1;
            return true;
        }
    }

    /// <summary>Admits one request that needs dial data.</summary>
    public bool TryAcceptDialData()
    {
        lock (_lock)
        {
            long now = _clock();
            Expire(now);
            if (_dialData.Count >= options.ServerDialDataRequestsPerMinute) return false;
            _dialData.Enqueue(now);
            return true;
        }
    }

    public void Complete(PeerId peer)
    {
        lock (_lock)
        {
            int left = _inProgress.GetValueOrDefault(peer) - 1;
            if (left > 0) _inProgress[peer] = left;
            else _inProgress.Remove(peer);
        }
    }

    private void Expire(long now)
    {
        while (_requests.TryPeek(out var oldest) && Stopwatch.GetElapsedTime(oldest.At, now) >= Window)
        {
            _requests.Dequeue();
            int left = _perPeer[oldest.Peer] - 1;
            if (left > 0) _perPeer[oldest.Peer] = left;
            else _perPeer.Remove(oldest.Peer);
        }
        while (_dialData.TryPeek(out long at) && Stopwatch.GetElapsedTime(at, now) >= Window) _dialData.Dequeue();
    }
}
