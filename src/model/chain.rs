//! Service → ports → EndpointSlices → endpoints → pods → nodes.
