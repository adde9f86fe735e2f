using System.Net.NetworkInformation;

namespace P2PNet.Tests.Discovery;

/// <summary>
/// Safety for tests that multicast or broadcast: they run only inside a private network namespace that
/// <see cref="NamespaceLauncherTests"/> creates (<c>unshare --net</c>, only <c>lo</c>), never on the host's interfaces.
/// </summary>
internal static class NetNs
{
    public const string Variable = "P2PNET_TEST_NETNS";
    public const string Category = "NetNs";

    public static bool Inside => Environment.GetEnvironmentVariable(Variable) == "1";

    /// <summary>Fails unless every interface of this namespace is loopback (so nothing can leave the machine).</summary>
    public static void AssertIsolated()
    {
        Assert.True(Inside, "discovery tests must run inside the private namespace");
        var nics = NetworkInterface.GetAllNetworkInterfaces();
        Assert.All(nics, n => Assert.Equal(NetworkInterfaceType.Loopback, n.NetworkInterfaceType));
    }
}

/// <summary>A fact that runs only inside the private namespace (the launcher runs it there).</summary>
internal sealed class NamespaceFactAttribute : FactAttribute
{
    public NamespaceFactAttribute()
    {
        if (!NetNs.Inside) Skip = "runs inside a private network namespace, launched by NamespaceLauncherTests";
    }
}
