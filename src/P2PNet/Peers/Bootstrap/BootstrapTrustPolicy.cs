using P2PNet.Core;

namespace P2PNet.Peers.Bootstrap;

/// <summary>
/// Which bootstrap servers a network accepts. One instance per network (on
/// <see cref="PeerNetworkTrustPolicy.Bootstrap"/>), shared by all its <see cref="BootstrapChannel"/>s, so the
/// authority locked in by <see cref="FirstSingleLockingAuthority"/> holds across servers.
/// </summary>
public sealed class BootstrapTrustPolicy
{
    private readonly Lock _sync = new();
    private PeerId? _lockedAuthority;

    /// <summary>Trustless servers (unsigned peer lists) may be used. Default true.</summary>
    public bool AllowBootstrapTrustlessConnection { get; set; } = true;

    /// <summary>Authority servers (signed answers) may be used. Default true.</summary>
    public bool AllowBootstrapAuthorityConnection { get; set; } = true;

    /// <summary>Only authority servers are accepted (a trustless one is refused). Default false.</summary>
    public bool MustBeAuthority { get; set; }

    /// <summary>
    /// The first authority seen is locked in; an answer signed by a different authority later is refused
    /// with <see cref="BootstrapError.AuthorityMismatch"/>. Default false.
    /// </summary>
    public bool FirstSingleLockingAuthority { get; set; }

    /// <summary>The authority locked in under <see cref="FirstSingleLockingAuthority"/>, if any.</summary>
    public PeerId? LockedAuthority { get { lock (_sync) return _lockedAuthority; } }

    /// <summary>Checks a server's mode against the policy.</summary>
    /// <exception cref="BootstrapException">The mode is not allowed.</exception>
    public void CheckMode(BootstrapMode mode, Uri server)
    {
        if (mode == BootstrapMode.Trustless && (MustBeAuthority || !AllowBootstrapTrustlessConnection))
            throw new BootstrapException(BootstrapError.ModeNotAllowed,
                $"bootstrap server {server} is trustless, but the policy {(MustBeAuthority ? "requires an authority (MustBeAuthority)" : "does not allow trustless servers")}");
        if (mode == BootstrapMode.Authority && !AllowBootstrapAuthorityConnection)
            throw new BootstrapException(BootstrapError.ModeNotAllowed, $"bootstrap server {server} is an authority, but the policy does not allow authority servers");
    }

    /// <summary>Checks (and, under <see cref="FirstSingleLockingAuthority"/>, locks in) an authority.</summary>
    /// <exception cref="BootstrapException">A different authority is already locked in.</exception>
    public void CheckAuthority(PeerId authority, Uri server)
    {
        ArgumentNullException.ThrowIfNull(authority);
        if (!FirstSingleLockingAuthority) return;
        lock (_sync)
        {
            _lockedAuthority ??= authority;
            if (_lockedAuthority != authority)
                throw new BootstrapException(BootstrapError.AuthorityMismatch,
                    $"bootstrap server {server} is authority {authority}, but authority {_lockedAuthority} is locked in (FirstSingleLockingAuthority); refusing it");
        }
    }
}
