namespace P2PNet.Tests.Discovery;

/// <summary>A fact that needs root (it creates network namespaces); skipped, saying why, otherwise.</summary>
internal sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (NamespaceLan.Unavailable() is { } why) Skip = why;
    }
}
