namespace P2PNet.Core;

/// <summary>One protocol/value pair of a <see cref="Multiaddr"/>; the value is kept in its text form.</summary>
/// <param name="Protocol">The protocol.</param>
/// <param name="Value">The value as text (address, port, name or PeerId).</param>
public readonly record struct MultiaddrComponent(MultiaddrProtocol Protocol, string Value);
