using P2PNet.Core;

namespace P2PNet.Swarm;

// Our own addresses: listen addresses plus the observed ones enough peers confirmed, with change events that
// identify push follows.
public sealed partial class SwarmHost
{
    private readonly ObservedAddressBook _observed;

    /// <summary>
    /// Every address we can be reached at, as handed to peers: <see cref="ListenAddresses"/> plus the observed
    /// addresses confirmed by <see cref="SwarmOptions.ObservedAddressThreshold"/> distinct observers.
    /// </summary>
    public IReadOnlyList<Multiaddr> Addresses => [.. ListenAddresses.Concat(_observed.Confirmed()).Concat(AnnouncedAddresses()).Distinct()];

    private readonly Dictionary<string, Multiaddr[]> _announced = new(StringComparer.Ordinal);

    /// <summary>
    /// Sets the addresses a service makes us reachable at beyond our listeners (the circuit relay client's
    /// <c>RELAY/p2p-circuit</c> addresses), replacing what <paramref name="source"/> set before; they join
    /// <see cref="Addresses"/> and raise <see cref="AddressesChanged"/> when they differ.
    /// </summary>
    internal void SetAnnouncedAddresses(string source, IReadOnlyList<Multiaddr> addresses)
    {
        lock (_announced)
        {
            if (_announced.TryGetValue(source, out var old) && old.SequenceEqual(addresses)) return;
            if (addresses.Count == 0) _announced.Remove(source);
            else _announced[source] = [.. addresses];
        }
        RaiseAddressesChanged();
    }

    private Multiaddr[] AnnouncedAddresses()
    {
        lock (_announced) return [.. _announced.Values.SelectMany(a => a)];
    }

    /// <summary>
    /// Every address peers currently report seeing us at (confirmed or not), with how many distinct observers
    /// report each; for NAT traversal (AutoNAT, hole punching) to pick from.
    /// </summary>
    public IReadOnlyList<ObservedAddress> ObservedAddressCandidates => _observed.Candidates();

    /// <summary>Raised when <see cref="Addresses"/> changed: a new listener, or an observed address confirmed or lost.</summary>
    public event EventHandler? AddressesChanged;

    /// <summary>Raised when <see cref="Protocols"/> changed (a handler added or removed).</summary>
    public event EventHandler? ProtocolsChanged;

    /// <summary>
    /// Records the address the peer on <paramref name="connection"/> says it sees us at (identify's
    /// <c>observedAddr</c>). It counts while that connection lives, once per distinct observer IP.
    /// </summary>
    public void RecordObservedAddress(Connection connection, Multiaddr observed)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(observed);
        if (!connection.IsOpen || connection.RemoteAddress.ToIPEndPoint()?.Address is not { } observer) return;
        bool changed = _observed.Record(connection, observed, observer, connection.Direction == ConnectionDirection.Inbound);
        // The connection may have closed meanwhile: its observation must not outlive it.
        if (!connection.IsOpen) changed |= _observed.Remove(connection);
        if (changed)
        {
            SwarmDialLog.AddressesChanged(_logger, string.Join(", ", _observed.Confirmed()));
            RaiseAddressesChanged();
        }
        Raise(ObservedAddressRecorded, nameof(ObservedAddressRecorded));
    }

    /// <summary>
    /// Raised after every observation recorded (confirmed or not; <see cref="ObservedAddressCandidates"/> has it), for
    /// services that wait for a first candidate (DCUtR's CONNECT) instead of polling.
    /// </summary>
    internal event EventHandler? ObservedAddressRecorded;

    private void ForgetObservations(Connection connection)
    {
        if (_observed.Remove(connection)) RaiseAddressesChanged();
    }

    private void RaiseAddressesChanged() => Raise(AddressesChanged, nameof(AddressesChanged));

    private void RaiseProtocolsChanged() => Raise(ProtocolsChanged, nameof(ProtocolsChanged));

    private void Raise(EventHandler? handler, string name)
    {
        try
        {
            handler?.Invoke(this, EventArgs.Empty);
        }
        catch (Exception ex)
        {
            SwarmLog.EventHandlerFailed(_logger, name, ex.Message);
        }
    }

    /// <summary>Cancelled when the host starts disposing; for services that run beside it.</summary>
    internal CancellationToken Stopping => _stoppingToken;

    // The listeners' own addresses, unexpanded (0.0.0.0 stays as it is).
    private List<Multiaddr> BoundListenAddresses()
    {
        lock (_listeners) return [.. _listeners.Select(l => l.Listener.ListenAddress)];
    }
}
